// What the construct's tests share: a stand-in package and a synthesized stack with cdk-nag.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { App, Aspects, Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { ClientVpnTerminator, ClientVpnTerminatorProps } from "../lib/client-vpn-terminator";

// Synthesis only hashes the asset, so a stand-in bootstrap does.
export const codePath = fs.mkdtempSync(path.join(os.tmpdir(), "cvpn-bootstrap-"));
fs.writeFileSync(path.join(codePath, "bootstrap"), "stand-in");

export const env = { account: "111122223333", region: "eu-west-1" };

export function synth(props: ClientVpnTerminatorProps = {}, agnostic = false): { stack: Stack; template: Template } {
  const app = new App();
  const stack = new Stack(app, "Test", agnostic ? {} : { env });
  new ClientVpnTerminator(stack, "Terminator", { codePath, ...props });
  Aspects.of(stack).add(new AwsSolutionsChecks());
  return { stack, template: Template.fromStack(stack) };
}

/** cdk-nag's AwsSolutions findings on `stack`, errors and warnings, each as `id: text`. */
export function nagFindings(stack: Stack): string[] {
  return [
    ...Annotations.fromStack(stack).findError("*", Match.stringLikeRegexp("AwsSolutions-.*")),
    ...Annotations.fromStack(stack).findWarning("*", Match.stringLikeRegexp("AwsSolutions-.*")),
  ].map((f) => `${f.id}: ${f.entry.data}`);
}
