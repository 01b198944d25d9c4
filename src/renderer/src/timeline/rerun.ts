import { notifyFailure } from '../store/store';
import { slipway } from '../transport';

/** Starts a build again with the options it had, and shows the new one. */
export async function rerunBuild(buildId: string): Promise<void> {
  try {
    const { buildId: started } = await slipway['build.rerun']({ buildId });
    location.hash = `#/build/${encodeURIComponent(started)}`;
  } catch (error) {
    notifyFailure('The build did not start again', error);
  }
}
