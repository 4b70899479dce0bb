// The binaries of the node tier's test images (docs/e2e.md, "A real node"): standard library
// only, built static by tests/e2e/node/build-node-tools.sh.
module gitops-base.local/e2e/node/images

go 1.26.0
