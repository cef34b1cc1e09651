import { JobDetail } from '@/components/JobDetail';
import { RoleGate } from '@/components/RoleGate';

export default async function JobPage({ params }: { params: Promise<{ jobId: string }> }) {
  const { jobId } = await params;
  return (
    <RoleGate page="jobs">
      <JobDetail jobId={jobId} />
    </RoleGate>
  );
}
