/**
 * For detectRaces only: wgsl_reflect cannot size `var<workgroup>` arrays by an `override` (it
 * throws "Invalid typed array length"), so the race tests rewrite every `override NAME: T = v;`
 * as `const NAME: T = <value>;`. A missing value is an error, so a new override cannot slip by.
 */
export function specialise(source: string, consts: Record<string, string>): string {
  return source.replace(/override (\w+): (\w+) = [^;]+;/g, (_, name: string, type: string) => {
    if (!(name in consts)) throw new Error(`no value for override ${name}`);
    return `const ${name}: ${type} = ${consts[name]};`;
  });
}
