/**
 * Labelled form fields: every control has a visible <label> (its accessible
 * name), a tooltip (title) saying what it does and the paper's default, and
 * its validation message right under it.
 */
import { useEffect, useId, useState, type ReactNode } from 'react';
import { useApp } from './store';
import type { FieldKey } from './settings';

export function Field({ k, label, title, children }: { k: FieldKey; label: string; title: string; children: (id: string, invalid: boolean) => ReactNode }) {
  const id = useId();
  const error = useApp((s) => s.errors[k]);
  return (
    <div className={`field${error ? ' invalid' : ''}`} title={title} data-field={k}>
      <label htmlFor={id}>{label}</label>
      {children(id, !!error)}
      {error && (
        <span className="field-error" role="status">
          {error}
        </span>
      )}
    </div>
  );
}

/**
 * A number input that keeps what the user types (so "1e" or "" can be on the
 * way to a value) and reports every parse to onValue (NaN when empty or not a
 * number: the field's validation then says why).
 */
export function NumberInput({
  id,
  value,
  onValue,
  invalid,
  step,
  min,
  allowEmpty,
  placeholder,
  label,
}: {
  id: string;
  value: number | null;
  onValue: (v: number | null) => void;
  invalid: boolean;
  step?: number | 'any';
  min?: number;
  allowEmpty?: boolean;
  placeholder?: string;
  label?: string;
}) {
  const shown = value === null ? '' : String(value);
  const [text, setText] = useState(shown);
  // follow outside changes (presets, the slider, a URL) unless the text already means that value
  useEffect(() => {
    setText((t) => (parse(t, allowEmpty) === value || (Number.isNaN(value) && t !== '') ? t : shown));
  }, [shown, value, allowEmpty]);
  return (
    <input
      id={id}
      type="number"
      inputMode="decimal"
      value={text}
      step={step ?? 1}
      min={min}
      placeholder={placeholder}
      aria-invalid={invalid}
      aria-label={label}
      onChange={(e) => {
        setText(e.target.value);
        onValue(parse(e.target.value, allowEmpty));
      }}
    />
  );
}

function parse(t: string, allowEmpty?: boolean): number | null {
  if (t.trim() === '') return allowEmpty ? null : Number.NaN;
  return Number(t);
}
