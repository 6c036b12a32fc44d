/**
 * An Aho-Corasick automaton over ASCII with letter case folded: finds every one of many texts in one pass over a
 * string or bytes, a few operations per character whatever the number of texts (a RegExp alternation of the same
 * texts tries them one by one at each offset). Its users walk the tables in their own loops (state = next[state *
 * letters + letter[c]], then the texts ending at state), so that no call or closure is made per character or per
 * text found. Every text ending at each offset is found: overlapping texts and texts that are prefixes or suffixes
 * of others included. Characters outside ASCII match no text.
 */
export class TextAutomaton {
  /** Character code (< 256) to letter of the automaton's alphabet; 0 for characters no text holds. */
  readonly letter = new Uint8Array(256);
  readonly letters: number;
  /** next[state * letters + letter]: the transitions (failure links resolved). State 0 is the start. */
  readonly next: Int32Array;
  /** The texts (by index) ending at a state: outputs[outputStart[s] .. outputStart[s + 1]). */
  readonly outputStart: Int32Array;
  readonly outputs: Int32Array;

  /** `texts`: printable ASCII, lower case (upper-case input matches them). */
  constructor(texts: readonly string[]) {
    let letters = 1;
    for (const text of texts) {
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c < 32 || c > 126 || (c >= 65 && c <= 90)) throw new Error(`text automaton: not lower-case printable ASCII: ${JSON.stringify(text)}`);
        if (this.letter[c] === 0) {
          this.letter[c] = letters;
          if (c >= 97 && c <= 122) this.letter[c - 32] = letters;
          letters++;
        }
      }
    }
    this.letters = letters;
    const goto: number[][] = [new Array<number>(letters).fill(-1)];
    const ends: number[][] = [[]];
    texts.forEach((text, id) => {
      let state = 0;
      for (let i = 0; i < text.length; i++) {
        const l = this.letter[text.charCodeAt(i)];
        if (goto[state][l] === -1) {
          goto[state][l] = goto.length;
          goto.push(new Array<number>(letters).fill(-1));
          ends.push([]);
        }
        state = goto[state][l];
      }
      ends[state].push(id);
    });
    // Failure links breadth first, folded into full transitions; a state's outputs include its failure state's.
    const states = goto.length;
    const next = new Int32Array(states * letters);
    const fail = new Int32Array(states);
    const order: number[] = [];
    for (let l = 0; l < letters; l++) {
      const child = goto[0][l];
      next[l] = child === -1 ? 0 : child;
      if (child !== -1) order.push(child);
    }
    for (let k = 0; k < order.length; k++) {
      const state = order[k];
      ends[state].push(...ends[fail[state]]);
      for (let l = 0; l < letters; l++) {
        const child = goto[state][l];
        if (child === -1) {
          next[state * letters + l] = next[fail[state] * letters + l];
        } else {
          fail[child] = next[fail[state] * letters + l];
          next[state * letters + l] = child;
          order.push(child);
        }
      }
    }
    this.next = next;
    this.outputStart = new Int32Array(states + 1);
    const outputs: number[] = [];
    for (let state = 0; state < states; state++) {
      this.outputStart[state] = outputs.length;
      outputs.push(...new Set(ends[state]));
    }
    this.outputStart[states] = outputs.length;
    this.outputs = Int32Array.from(outputs);
  }
}
