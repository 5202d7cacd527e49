// Package deploy holds no code: its tests check the deployment files against
// each other and against the code, where an operator finds them. Those are the
// Dockerfile, .dockerignore and docker-compose.yml at the repository root
// (where `docker build .` and `docker compose up` look for them) and the
// Kubernetes example in deploy/kubernetes.
//
// The package sits in deploy/ because that is the project's folder for how SMS+
// is deployed, and the root cannot hold a Go package without making the
// module's own import path one. The tests read the files, run `make -n static`
// and `git ls-files`; they start no server (host/ops_test.go runs the binaries
// built the image's way).
//
//	go test ./deploy/
package deploy
