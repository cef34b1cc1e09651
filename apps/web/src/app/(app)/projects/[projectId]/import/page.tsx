import { ImportData } from '@/components/ImportData';
import { RoleGate } from '@/components/RoleGate';

export default function ImportPage() {
  return (
    <RoleGate page="import">
      <ImportData />
    </RoleGate>
  );
}
