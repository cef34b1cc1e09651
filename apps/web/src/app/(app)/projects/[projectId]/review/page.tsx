import { ReviewQueue } from '@/components/ReviewQueue';
import { RoleGate } from '@/components/RoleGate';

export default function ReviewPage() {
  return (
    <RoleGate page="review">
      <ReviewQueue />
    </RoleGate>
  );
}
