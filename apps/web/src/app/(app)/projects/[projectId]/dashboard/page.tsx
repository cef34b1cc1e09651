import { Dashboard } from '@/components/Dashboard';
import { RoleGate } from '@/components/RoleGate';

export default function DashboardPage() {
  return (
    <RoleGate page="dashboard">
      <Dashboard />
    </RoleGate>
  );
}
