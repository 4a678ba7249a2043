// Moving with the keyboard what others drag: a note or a group on a board
// (board.js), a stakeholder card on the map (stakeholders.js). Each arrow press
// moves the item and stores its new place; the item is drawn where the keys put
// it until the server has that place.

const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

// The move an arrow key asks for, in the screen's directions (right and down are
// positive): `step` units, `bigger` times that with Shift; null for any other key.
export function arrowMove(ev, step, bigger) {
  const arrow = ARROWS[ev.key];
  if (!arrow) return null;
  const by = ev.shiftKey ? step * bigger : step;
  return [arrow[0] * by, arrow[1] * by];
}

// The places given with the keys, by item key, until the server has them. The
// next press goes on from the last press's place, not from an earlier press's echo
// arriving meanwhile. One place at a time is on its way (the server may run two of
// a client's actions at once, in either order): presses made meanwhile are sent as
// one, the last, when it is answered. A refusal undoes the moves.
//   redraw()        draws the screen again (the keyed places gone stale)
//   failed(error)   a refusal: says so and draws the screen again
export class KeyedMoves {
  constructor({ redraw, failed }) {
    this.redraw = redraw;
    this.failed = failed;
    this.moves = new Map();
  }

  // Where the last press put the item, if a press is not settled yet.
  placeOf(key) {
    const moved = this.moves.get(key);
    return moved ? moved.place : undefined;
  }

  // The item where the keys have put it, while the server has not caught up.
  at(key, item) {
    const moved = this.moves.get(key);
    if (!moved) return item;
    const arrived = Object.keys(moved.place).every((k) => moved.place[k] === item[k]);
    if (!moved.busy && !moved.next && arrived) {
      this.moves.delete(key); // the server has it now
      return item;
    }
    return { ...item, ...moved.place };
  }

  // A press: stores the place, draws it (draw(), if given) and sends it with send(),
  // which returns the action's promise; later, if a press is already on its way.
  move(key, place, send, draw) {
    const moved = this.moves.get(key) || { busy: false };
    Object.assign(moved, { place, next: send });
    this.moves.set(key, moved);
    if (draw) draw();
    this.send(key, moved);
  }

  send(key, moved) {
    if (moved.busy || !moved.next) return;
    const send = moved.next;
    moved.next = null;
    moved.busy = true;
    send().then(() => {
      moved.busy = false;
      if (moved.next) { this.send(key, moved); return; }
      // Normally the event with the last place clears it (at()); this is in case not.
      setTimeout(() => {
        if (this.moves.get(key) === moved && !moved.busy && !moved.next) { this.moves.delete(key); this.redraw(); }
      }, 3000);
    }, (error) => {
      this.moves.delete(key);
      this.failed(error);
    });
  }
}
