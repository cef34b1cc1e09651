import { RaterHistory } from '@/components/RaterHistory';
import { RoleGate } from '@/components/RoleGate';

export default function HistoryPage() {
  return (
    <RoleGate page="history">
      <RaterHistory />
    </RoleGate>
  );
}
