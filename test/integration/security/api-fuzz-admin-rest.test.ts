/* The admin fuzz run's "rest" part (test/integration/security/api-fuzz.ts explains the parts). */
import { fuzzAdminPart } from './api-fuzz.js';

fuzzAdminPart('rest');
