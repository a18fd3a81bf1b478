// An example deployment: incidents from GuardDuty and the Security Hub custom action, and an idle
// and age sweep every 15 minutes, all in dry run until you set dryRun: false.
import { App, Duration, Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import { AwsSolutionsChecks } from "cdk-nag";
import { Aspects } from "aws-cdk-lib";
import { ClientVpnTerminator } from "../lib/client-vpn-terminator";

const app = new App();
const stack = new Stack(app, "CvpnTerminator", {
  description: "cvpn-terminator: ends Client VPN sessions on findings and sweeps idle ones",
});
new ClientVpnTerminator(stack, "Terminator", {
  // The bootstrap built by `cargo lambda build --release --arm64`; CVPN_BOOTSTRAP_DIR points elsewhere.
  codePath: process.env.CVPN_BOOTSTRAP_DIR,
  dryRun: true,
  protectedUsers: ["breakglass"],
  schedule: events.Schedule.rate(Duration.minutes(15)),
  idleMinutes: 60,
  maxSessionMinutes: 720,
});
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
