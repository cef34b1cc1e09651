import { RoleGate } from '@/components/RoleGate';
import { WriteTask } from '@/components/WriteTask';

export default function WritePage() {
  return (
    <RoleGate page="write">
      <WriteTask />
    </RoleGate>
  );
}
