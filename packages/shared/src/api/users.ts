import { z } from 'zod';
import { LocaleSchema, RoleSchema } from './common.ts';
import { UserSchema } from './auth.ts';

// POST /v1/users (admin)
export const CreateUserRequestSchema = z.object({
  email: z.email().max(320),
  displayName: z.string().trim().min(1).max(200),
  password: z.string().min(8).max(1024),
  roles: z.array(RoleSchema).default([]),
  locale: LocaleSchema.default('en'),
});
export type CreateUserRequest = z.input<typeof CreateUserRequestSchema>;
export const UserResponseSchema = z.object({ user: UserSchema });
export type UserResponse = z.infer<typeof UserResponseSchema>;
/** PATCH's answer: with a new password, how many sessions were ended and API tokens revoked. */
export const UpdateUserResponseSchema = UserResponseSchema.extend({ endedSessions: z.number().int().optional(), revokedTokens: z.number().int().optional() });
export type UpdateUserResponse = z.infer<typeof UpdateUserResponseSchema>;

// PATCH /v1/users/:id (admin)
export const UpdateUserRequestSchema = z.object({
  displayName: z.string().trim().min(1).max(200).optional(),
  roles: z.array(RoleSchema).optional(),
  password: z.string().min(8).max(1024).optional(),
});
export type UpdateUserRequest = z.infer<typeof UpdateUserRequestSchema>;

// GET /v1/users (admin) ?limit&offset&q
export const UserListQuerySchema = z.object({
  q: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export const UserListResponseSchema = z.object({ items: z.array(UserSchema), total: z.number().int() });
export type UserListResponse = z.infer<typeof UserListResponseSchema>;
