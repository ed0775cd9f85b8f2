import type { JSX } from 'react';
import type { ItemState } from '../../../../core/api/contract';
import { STATE_LABEL } from './items';

/** State as colour and words; the hidden prefix makes screen readers say "State: Conflict". */
export function StateBadge({ state, message }: { state: ItemState; message?: string | undefined }): JSX.Element {
  return (
    <span className={`badge badge--${state}`} data-testid="item-state" data-state={state} title={message}>
      <span className="badge__dot" aria-hidden="true" />
      <span className="sr-only">State: </span>
      {STATE_LABEL[state]}
    </span>
  );
}
