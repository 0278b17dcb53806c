// Package deploy checks the deployment files of molotov-go: the Kubernetes
// Indexed Job of kubernetes/ and the CI matrix workflow of github-actions/.
// Its tests run them as Kubernetes and the CI would, on this machine: the
// shares of a load test as local processes of its test binary, against a
// local server, their results collected the way docs/distributed.md says
// and merged by the molotov command. It is a module of its own, so that
// the library never depends on the Kubernetes API.
package deploy
