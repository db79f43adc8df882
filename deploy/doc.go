// Package deploy holds closecast's deployment files, not Go code: the
// Lambda container image (Dockerfile), the AWS SAM template (template.yaml),
// the deploy guide (README.md) and a wrk script (loadtest/). Its tests check
// that the three agree with each other and with cmd/lambda.
package deploy
