// The `plist` package (devDependency: an independent parser for the plists and profiles we ship) has no types.
declare module "plist" {
  namespace plist {
    type PlistValue = string | number | boolean | Date | Uint8Array | PlistValue[] | PlistObject;
    interface PlistObject {
      [key: string]: PlistValue;
    }
    function parse(xml: string): PlistValue;
    function build(value: PlistValue): string;
  }
  export default plist;
}
