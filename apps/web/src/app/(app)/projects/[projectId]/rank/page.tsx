import { RoleGate } from '@/components/RoleGate';
import { RankTask } from '@/components/RankTask';

export default function RankPage() {
  return (
    <RoleGate page="rank">
      <RankTask />
    </RoleGate>
  );
}
