import { Playground } from '@/components/Playground';
import { RoleGate } from '@/components/RoleGate';

export default function PlaygroundPage() {
  return (
    <RoleGate page="playground">
      <Playground />
    </RoleGate>
  );
}
