/* The admin fuzz run's "flags-and-access" part (test/integration/security/api-fuzz.ts explains the parts). */
import { fuzzAdminPart } from './api-fuzz.js';

fuzzAdminPart('flags-and-access');
