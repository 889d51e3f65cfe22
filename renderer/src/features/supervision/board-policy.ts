import { DEFAULT_ORG_POLICY, type BoardPolicy } from '../../../../shared/gateway/policy';
import { accessToken, gatewayClient } from '../../gateway';
import { logFailure } from '../../log';
import { useSupervisionStore, type SupervisionState } from './store';

/** Reads the org's board thresholds once per session (the admin sets them in the org policy). */
export async function loadBoardPolicy(): Promise<void> {
  try {
    const thresholds = await gatewayClient.call('boardPolicy', { accessToken: await accessToken() });
    useSupervisionStore.setState({ thresholds, thresholdsFailed: false });
  } catch (err) {
    // the board highlights by the defaults and says the org's could not be read
    logFailure("reading the org's board thresholds", err);
    useSupervisionStore.setState({ thresholdsFailed: true });
  }
}

/** The thresholds to highlight by: the org's, or the defaults until (or unless) the gateway has said. */
export const thresholdsOf = (s: SupervisionState): BoardPolicy => s.thresholds ?? DEFAULT_ORG_POLICY.board;
