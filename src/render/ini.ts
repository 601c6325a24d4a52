/**
 * The layout shared by the INI dialects (aws, rclone, s3cmd): `[header]`, then `key = value` lines,
 * a blank line between sections, a trailing newline. Values arrive already encoded for their
 * dialect (see aws-shared.ts, rclone.ts, s3cmd.ts): this file only lays them out.
 */

export interface IniEntry {
  readonly key: string;
  /** Encoded value; '' writes `key =` (botocore reads that as the start of a nested block). */
  readonly value: string;
  /** Two-space indent: a line of the nested block above it (aws `s3 =`). */
  readonly nested?: boolean;
}

export interface IniSection {
  readonly header: string;
  readonly entries: readonly IniEntry[];
}

export function renderIni(sections: readonly IniSection[]): string {
  return sections.map(renderSection).join('\n');
}

function renderSection(section: IniSection): string {
  return `[${section.header}]\n${section.entries.map(renderEntry).join('')}`;
}

function renderEntry(entry: IniEntry): string {
  const indent = entry.nested === true ? '  ' : '';
  return entry.value === '' ? `${indent}${entry.key} =\n` : `${indent}${entry.key} = ${entry.value}\n`;
}
