import { Contributions } from '@/components/Contributions';
import { RoleGate } from '@/components/RoleGate';

export default function ContributionsPage() {
  return (
    <RoleGate page="contributions">
      <Contributions />
    </RoleGate>
  );
}
