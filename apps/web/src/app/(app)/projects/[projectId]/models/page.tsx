import { ModelList } from '@/components/ModelList';
import { RoleGate } from '@/components/RoleGate';

export default function ModelsPage() {
  return (
    <RoleGate page="models">
      <ModelList />
    </RoleGate>
  );
}
