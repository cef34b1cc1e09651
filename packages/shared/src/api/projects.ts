import { z } from 'zod';
import { IdSchema, RoleSchema, TimestampSchema } from './common.ts';
import { RatingScaleSchema, RatingScalesSchema } from './scales.ts';

export const ProjectSettingsSchema = z.object({
  /** N: how many different raters rank each comparison */
  ratersPerComparison: z.number().int().min(1).max(50),
  /** K: how many answers a generated comparison holds */
  answersPerComparison: z.number().int().min(2).max(16),
  /** share of a rater's new tasks that are gold comparisons (known order), while any are left for them */
  goldRate: z.number().min(0).max(1),
  /** annotators may use the playground (researchers always may) */
  playgroundForAnnotators: z.boolean(),
});

export const ProjectSchema = z.object({
  id: IdSchema,
  name: z.string(),
  /** markdown shown to annotators and raters */
  guidelines: z.string(),
  ratersPerComparison: z.number().int(),
  answersPerComparison: z.number().int(),
  goldRate: z.number(),
  /** what raters score each answer on, beside the ranking */
  ratingScales: z.array(RatingScaleSchema),
  /** raters may give each answer a thumbs up or down */
  thumbs: z.boolean(),
  playgroundForAnnotators: z.boolean(),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  /** the caller's effective roles in this project (admins: all roles) */
  myRoles: z.array(RoleSchema),
});
export type Project = z.infer<typeof ProjectSchema>;

// POST /v1/projects (researcher, admin) — the creator becomes a member with researcher+admin roles
export const CreateProjectRequestSchema = z.object({
  name: z.string().trim().min(1).max(200),
  guidelines: z.string().max(100_000).default(''),
  ratersPerComparison: ProjectSettingsSchema.shape.ratersPerComparison.default(3),
  answersPerComparison: ProjectSettingsSchema.shape.answersPerComparison.default(4),
  goldRate: ProjectSettingsSchema.shape.goldRate.default(0.1),
  ratingScales: RatingScalesSchema.default([]),
  thumbs: z.boolean().default(true),
  playgroundForAnnotators: ProjectSettingsSchema.shape.playgroundForAnnotators.default(false),
});
export type CreateProjectRequest = z.input<typeof CreateProjectRequestSchema>;

// PATCH /v1/projects/:projectId (project researcher/admin)
export const UpdateProjectRequestSchema = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  guidelines: z.string().max(100_000).optional(),
  ratersPerComparison: ProjectSettingsSchema.shape.ratersPerComparison.optional(),
  answersPerComparison: ProjectSettingsSchema.shape.answersPerComparison.optional(),
  goldRate: ProjectSettingsSchema.shape.goldRate.optional(),
  ratingScales: RatingScalesSchema.optional(),
  thumbs: z.boolean().optional(),
  playgroundForAnnotators: ProjectSettingsSchema.shape.playgroundForAnnotators.optional(),
});
export type UpdateProjectRequest = z.infer<typeof UpdateProjectRequestSchema>;

export const ProjectResponseSchema = z.object({ project: ProjectSchema });
export type ProjectResponse = z.infer<typeof ProjectResponseSchema>;
// GET /v1/projects — the caller's projects (admins: all)
export const ProjectListResponseSchema = z.object({ items: z.array(ProjectSchema) });
export type ProjectListResponse = z.infer<typeof ProjectListResponseSchema>;

export const MemberSchema = z.object({
  userId: IdSchema,
  email: z.string(),
  displayName: z.string(),
  roles: z.array(RoleSchema),
  createdAt: TimestampSchema,
});
export type Member = z.infer<typeof MemberSchema>;

export const MemberParamsSchema = z.object({ projectId: IdSchema, userId: IdSchema });

// GET /v1/projects/:projectId/members (any member)
export const MemberListResponseSchema = z.object({ items: z.array(MemberSchema) });
export type MemberListResponse = z.infer<typeof MemberListResponseSchema>;
// POST /v1/projects/:projectId/members (project admin) — the user must exist (admins create users)
export const AddMemberRequestSchema = z.object({
  email: z.email().max(320),
  roles: z.array(RoleSchema).min(1),
});
export type AddMemberRequest = z.infer<typeof AddMemberRequestSchema>;
// PATCH /v1/projects/:projectId/members/:userId (project admin)
export const UpdateMemberRequestSchema = z.object({ roles: z.array(RoleSchema).min(1) });
export type UpdateMemberRequest = z.infer<typeof UpdateMemberRequestSchema>;
export const MemberResponseSchema = z.object({ member: MemberSchema });
export type MemberResponse = z.infer<typeof MemberResponseSchema>;
