/**
 * What keeps names (and room names) apart besides their spelling: names that
 * look alike share a key, a name keeps to one script, and a name has no
 * invisible characters. `src/core/protocol.ts` builds its name rules on these.
 *
 * - **Look-alikes.** {@linkcode lookalikeKey} is the name's confusable
 *   skeleton (Unicode TS #39, section 4: NFD, each character mapped to its
 *   prototype in confusables.txt, NFD again), taken over a case fold: NFKC,
 *   upper case, skeleton, lower case, skeleton again. Upper case first makes
 *   capitals that look alike meet (Cyrillic `В` and Latin `B`, Greek `Η` and
 *   `H`), the second pass the small letters that do (Cyrillic `а` and Latin
 *   `a`), and the key depends on the upper-cased name alone, so case is still
 *   ignored. The price of folding both ways: `i`, `l`, `I` and
 *   `1` all count as one letter (`I` looks like `l`, and `i` is `I` in upper
 *   case), as do `m` and `rn`, `0` and `o`.
 * - **One script.** {@linkcode mixedScripts} finds characters with no script in
 *   common (TS #39, section 5.1: the intersection of their Script_Extensions,
 *   Common and Inherited going with every script; Han with Hiragana and
 *   Katakana, Han with Hangul and Han with Bopomofo count as one script each).
 *   Only regular expression properties are used: no data.
 * - **Nothing invisible.** {@linkcode hasInvisible} finds default-ignorable
 *   characters (zero-width spaces and joiners, bidi marks, variation selectors …)
 *   and the Hangul fillers, letters that show as blanks.
 *
 * @module
 */

import { CONFUSABLES } from "./confusables.ts";

// ---------------------------------------------------------------------------
// Look-alikes
// ---------------------------------------------------------------------------

let prototypes: Map<number, string> | undefined;

/** The confusables table, decoded on first use (see src/core/confusables.ts for its format). */
function table(): Map<number, string> {
  if (prototypes) return prototypes;
  prototypes = new Map();
  let code = 0;
  for (const entry of CONFUSABLES.split(",")) {
    const colon = entry.indexOf(":");
    code += parseInt(entry.slice(0, colon), 36);
    const target = entry.slice(colon + 1).split(".").map((n) => parseInt(n, 36));
    prototypes.set(code, String.fromCodePoint(...target));
  }
  return prototypes;
}

/**
 * The TS #39 skeleton of `text`: equal for strings that look alike. Meant for
 * comparing names, never for showing; its table holds only the characters that
 * names meet (see {@linkcode lookalikeKey}).
 */
export function skeleton(text: string): string {
  const map = table();
  let out = "";
  for (const char of text.normalize("NFD")) out += map.get(char.codePointAt(0)!) ?? char;
  return out.normalize("NFD");
}

/**
 * The key under which a name is unique: equal for names that differ only in
 * case or compatibility forms, or that look alike (see the module doc).
 */
export function lookalikeKey(name: string): string {
  return asciiKey(name) ?? skeleton(skeleton(name.normalize("NFKC").toUpperCase()).toLowerCase());
}

/**
 * The key of each printable ASCII character as {@linkcode lookalikeKey} makes it, or
 * `undefined` where that key is not ASCII: built on first use.
 */
let asciiKeys: (string | undefined)[] | undefined;
const PRINTABLE_ASCII = /^[\x21-\x7e]*$/;

/**
 * {@linkcode lookalikeKey} of a printable ASCII name, a character at a time (for ASCII,
 * normalizing and case are per character, and so is the skeleton while it stays ASCII: a
 * character whose skeleton does not is left to the general way);
 * `undefined` for any other name. Most names are ASCII, and a connection storm makes
 * thousands of keys: the general way allocates over a kilobyte per key.
 */
function asciiKey(name: string): string | undefined {
  asciiKeys ??= Array.from({ length: 0x7f }, (_, code) => {
    if (code < 0x21) return undefined;
    const upper = skeleton(String.fromCharCode(code).toUpperCase());
    const key = skeleton(upper.toLowerCase());
    return PRINTABLE_ASCII.test(upper) && PRINTABLE_ASCII.test(key) ? key : undefined;
  });
  let key = "";
  for (let i = 0; i < name.length; i++) {
    const part = asciiKeys[name.charCodeAt(i)];
    if (part === undefined) return undefined;
    key += part;
  }
  return key;
}

// ---------------------------------------------------------------------------
// One script
// ---------------------------------------------------------------------------

/** Unicode 16's scripts; the ones the engine does not know are skipped. */
const SCRIPT_NAMES = `Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum
  Bassa_Vah Batak Bengali Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal
  Carian Caucasian_Albanian Chakma Cham Cherokee Chorasmian Coptic Cuneiform Cypriot Cypro_Minoan
  Cyrillic Deseret Devanagari Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs Elbasan Elymaic
  Ethiopic Garay Georgian Glagolitic Gothic Grantha Greek Gujarati Gunjala_Gondi Gurmukhi
  Gurung_Khema Han Hangul Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana Imperial_Aramaic
  Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi Kannada Katakana Kawi Kayah_Li
  Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi Kirat_Rai Lao Latin Lepcha Limbu Linear_A
  Linear_B Lisu Lycian Lydian Mahajani Makasar Malayalam Mandaic Manichaean Marchen Masaram_Gondi
  Medefaidrin Meetei_Mayek Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi Mongolian
  Mro Multani Myanmar Nabataean Nag_Mundari Nandinagari New_Tai_Lue Newa Nko Nushu
  Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Ol_Onal Old_Hungarian Old_Italic Old_North_Arabian
  Old_Permic Old_Persian Old_Sogdian Old_South_Arabian Old_Turkic Old_Uyghur Oriya Osage Osmanya
  Pahawh_Hmong Palmyrene Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan
  Saurashtra Sharada Shavian Siddham SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese
  Sunuwar Syloti_Nagri Syriac Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangsa Tangut
  Telugu Thaana Thai Tibetan Tifinagh Tirhuta Todhri Toto Tulu_Tigalari Ugaritic Vai Vithkuqi
  Wancho Warang_Citi Yezidi Yi Zanabazar_Square`.split(/\s+/);

/** A script a character can belong to, or one of TS #39's CJK combinations. */
interface Script {
  readonly name: string;
  /** Whether a character can be written in it. */
  readonly has: RegExp;
}

/** Characters that go with any script: Script_Extensions Common or Inherited. */
const ANY_SCRIPT = /[\p{Script_Extensions=Common}\p{Script_Extensions=Inherited}]/u;
/** Names that are plain ASCII: Latin and Common, one script. */
const ASCII = /^[\x21-\x7e]*$/;

let allScripts: Script[] | undefined;

/** Every script, with the CJK combinations last (compiled on first use). */
function scripts(): Script[] {
  if (allScripts) return allScripts;
  allScripts = [];
  for (const name of SCRIPT_NAMES) {
    try {
      allScripts.push({ name, has: new RegExp(`\\p{Script_Extensions=${name}}`, "u") });
    } catch {
      // An older engine without this script: no character of it is a letter to it either.
    }
  }
  const scx = (...names: string[]) =>
    new RegExp(`[${names.map((name) => `\\p{Script_Extensions=${name}}`).join("")}]`, "u");
  allScripts.push(
    { name: "Japanese", has: scx("Han", "Hiragana", "Katakana") },
    { name: "Korean", has: scx("Han", "Hangul") },
    { name: "Han with Bopomofo", has: scx("Han", "Bopomofo") },
  );
  return allScripts;
}

let scriptValues: Script[] | undefined;

/** The script to name for `char` in a message: its Script value, else its first extension. */
function scriptName(char: string): string {
  scriptValues ??= scripts().filter(({ name }) => SCRIPT_NAMES.includes(name)).map(({ name }) => ({
    name,
    has: new RegExp(`\\p{Script=${name}}`, "u"),
  }));
  const script = scriptValues.find(({ has }) => has.test(char)) ??
    scripts().find(({ has }) => has.test(char));
  return script?.name.replaceAll("_", " ") ?? "Unknown";
}

/**
 * Two scripts that `name` mixes, named for people (`["Latin", "Cyrillic"]`), or
 * `null` when one script (or CJK combination) covers all its characters.
 */
export function mixedScripts(name: string): [string, string] | null {
  if (ASCII.test(name)) return null;
  let common: Script[] | null = null; // the scripts every character so far can be in
  let first = "";
  for (const char of name) {
    if (ANY_SCRIPT.test(char)) continue;
    const next: Script[] = (common ?? scripts()).filter(({ has }) => has.test(char));
    if (common === null) {
      // A script this engine does not know: nothing to tell it apart from.
      if (next.length === 0) continue;
      first = char;
    } else if (next.length === 0) {
      return [scriptName(first), scriptName(char)];
    }
    common = next;
  }
  return null;
}

// ---------------------------------------------------------------------------
// Nothing invisible
// ---------------------------------------------------------------------------

/** Default ignorables and the Hangul fillers (which are default ignorable too, said twice). */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u115f\u1160\u3164\uffa0]/u;

/** Whether `name` holds a character that shows as nothing or as a blank. */
export function hasInvisible(name: string): boolean {
  return INVISIBLE.test(name);
}
