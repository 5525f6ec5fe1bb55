// Running sums over points (t, y) for a least-squares line y = a + b·t; points can
// be taken out again, so a window slides over them.

export interface Point {
  t: number;
  y: number;
}

export class LineSums {
  n = 0;
  t = 0;
  y = 0;
  tt = 0;
  ty = 0;
  add(r: Point, sign: 1 | -1 = 1): void {
    this.n += sign;
    this.t += sign * r.t;
    this.y += sign * r.y;
    this.tt += sign * r.t * r.t;
    this.ty += sign * r.t * r.y;
  }
  clear(): void {
    this.n = this.t = this.y = this.tt = this.ty = 0;
  }
  slope(): number {
    const den = this.n * this.tt - this.t * this.t;
    return den > 0 ? (this.n * this.ty - this.t * this.y) / den : 0;
  }
  /** the least-squares line's value at t (needs n ≥ 1) */
  at(t: number): number {
    const b = this.slope();
    return (this.y - b * this.t) / this.n + b * t;
  }
}
