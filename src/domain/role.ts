import { z } from 'zod';

/** The roles a user may hold (src/auth/rbac.ts decides what each may do). */
export const ROLES = ['viewer', 'editor', 'admin', 'emergency_responder'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;
