import { RaterQuality } from '@/components/RaterQuality';
import { RoleGate } from '@/components/RoleGate';

export default function RatersPage() {
  return (
    <RoleGate page="raters">
      <RaterQuality />
    </RoleGate>
  );
}
