export { killSwitch, restoreKillSwitch } from './kill-switch.js';
