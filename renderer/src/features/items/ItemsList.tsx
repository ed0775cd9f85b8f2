import { useId, useMemo, useState, type JSX } from 'react';
import type { ItemDto } from '../../../../core/api/contract';
import { useStatusStore } from '../status/useStatusStore';
import { countByType, filterItems, TYPE_LABEL, type TypeFilter } from './items';
import { StateBadge } from './StateBadge';

const NO_ITEMS: readonly ItemDto[] = [];

export function ItemsList(): JSX.Element {
  const items = useStatusStore((s) => s.status?.items ?? NO_ITEMS);
  const [filter, setFilter] = useState<TypeFilter>('all');
  const filterId = useId();
  const types = useMemo(() => countByType(items), [items]);
  const shown = useMemo(() => filterItems(items, filter), [items, filter]);

  return (
    <section className="card" aria-labelledby="items-heading" data-testid="items-list">
      <header className="card__header">
        <h2 id="items-heading">Items</h2>
        <div className="field field--inline">
          <label htmlFor={filterId}>Type</label>
          <select
            id={filterId}
            value={filter}
            onChange={(e) => setFilter(e.target.value as TypeFilter)}
            data-testid="items-filter"
          >
            <option value="all">All types ({items.length})</option>
            {types.map(({ type, count }) => (
              <option key={type} value={type}>
                {TYPE_LABEL[type]} ({count})
              </option>
            ))}
          </select>
        </div>
      </header>
      {shown.length === 0 ? (
        <p className="empty" data-testid="items-empty">
          {items.length === 0 ? 'No items yet.' : 'No items of this type.'}
        </p>
      ) : (
        <div className="table-wrap">
          <table className="items">
            <caption className="sr-only">
              {shown.length} of {items.length} items
            </caption>
            <thead>
              <tr>
                <th scope="col">Path</th>
                <th scope="col">Type</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((item) => (
                <tr key={item.path} data-testid="item-row" data-path={item.path}>
                  <td className="items__path">
                    <code>{item.path}</code>
                    {item.message ? <div className="items__message">{item.message}</div> : null}
                  </td>
                  <td>{TYPE_LABEL[item.type]}</td>
                  <td>
                    <StateBadge state={item.state} message={item.message} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
