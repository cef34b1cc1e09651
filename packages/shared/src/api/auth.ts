import { z } from 'zod';
import { IdSchema, LocaleSchema, RoleSchema, TimestampSchema } from './common.ts';

export const UserSchema = z.object({
  id: IdSchema,
  email: z.string(),
  displayName: z.string(),
  /** global roles; `admin` sees every project */
  roles: z.array(RoleSchema),
  locale: z.string(),
  createdAt: TimestampSchema,
});
export type User = z.infer<typeof UserSchema>;

// POST /v1/auth/login → sets the httpOnly cookie `jielong_session`
export const LoginRequestSchema = z.object({
  email: z.email().max(320),
  password: z.string().min(1).max(1024),
});
export type LoginRequest = z.infer<typeof LoginRequestSchema>;
export const LoginResponseSchema = z.object({ user: UserSchema });
export type LoginResponse = z.infer<typeof LoginResponseSchema>;

export const MembershipSchema = z.object({
  projectId: IdSchema,
  projectName: z.string(),
  roles: z.array(RoleSchema),
});
export type Membership = z.infer<typeof MembershipSchema>;

// GET /v1/me
export const MeResponseSchema = z.object({ user: UserSchema, memberships: z.array(MembershipSchema) });
export type MeResponse = z.infer<typeof MeResponseSchema>;

// PATCH /v1/me
export const UpdateMeRequestSchema = z.object({
  displayName: z.string().trim().min(1).max(200).optional(),
  locale: LocaleSchema.optional(),
});
export type UpdateMeRequest = z.infer<typeof UpdateMeRequestSchema>;

// POST /v1/me/password
export const ChangePasswordRequestSchema = z.object({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().min(8).max(1024),
});
export type ChangePasswordRequest = z.infer<typeof ChangePasswordRequestSchema>;
/** A new password ends every other session and revokes every API token of the account. */
export const ChangePasswordResponseSchema = z.object({ ok: z.literal(true), endedSessions: z.number().int(), revokedTokens: z.number().int() });
export type ChangePasswordResponse = z.infer<typeof ChangePasswordResponseSchema>;

export const ApiTokenSchema = z.object({
  id: IdSchema,
  name: z.string(),
  /** the token's first characters, to tell tokens apart */
  prefix: z.string(),
  createdAt: TimestampSchema,
  lastUsedAt: TimestampSchema.nullable(),
  revokedAt: TimestampSchema.nullable(),
});
export type ApiToken = z.infer<typeof ApiTokenSchema>;

// POST /v1/me/tokens
export const CreateTokenRequestSchema = z.object({ name: z.string().trim().min(1).max(200) });
export type CreateTokenRequest = z.infer<typeof CreateTokenRequestSchema>;
/** `secret` is shown this once; send it as `Authorization: Bearer <secret>`. */
export const CreateTokenResponseSchema = z.object({ token: ApiTokenSchema, secret: z.string() });
export type CreateTokenResponse = z.infer<typeof CreateTokenResponseSchema>;

// GET /v1/me/tokens
export const TokenListResponseSchema = z.object({ items: z.array(ApiTokenSchema) });
export type TokenListResponse = z.infer<typeof TokenListResponseSchema>;
