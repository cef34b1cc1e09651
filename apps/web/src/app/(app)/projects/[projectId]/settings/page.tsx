import { ProjectSettings } from '@/components/ProjectSettings';
import { RoleGate } from '@/components/RoleGate';

export default function SettingsPage() {
  return (
    <RoleGate page="settings">
      <ProjectSettings />
    </RoleGate>
  );
}
