// The output formats of every command (`-o table|json|yaml`): shared by the command parser and the printer.
export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
