/**
 * Numbers requests so that only the newest one's answer is used: `take()` starts a request and gives
 * back a check that stays true until a newer request is taken (or `drop()` ends them all).
 */
export class NewestOnly {
  private newest = 0;

  take(): () => boolean {
    this.newest += 1;
    const mine = this.newest;
    return () => mine === this.newest;
  }

  drop(): void {
    this.newest += 1;
  }
}
