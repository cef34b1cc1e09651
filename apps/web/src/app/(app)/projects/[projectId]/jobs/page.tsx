import { JobsPage } from '@/components/JobsPage';
import { RoleGate } from '@/components/RoleGate';

export default function Jobs() {
  return (
    <RoleGate page="jobs">
      <JobsPage />
    </RoleGate>
  );
}
