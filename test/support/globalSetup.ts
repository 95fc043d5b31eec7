import { exportHsmEnvironment, loadConfig } from '../../config/env';

/**
 * Runs in jest's parent process. Native libraries (SoftHSM reads SOFTHSM2_CONF)
 * see only the real process environment, not the copy jest gives each test
 * file, so it must be set here, before test workers start.
 */
export default function globalSetup(): void {
  exportHsmEnvironment(loadConfig());
}
