// Command terraform-provider-orbit is the Terraform provider for Orbit.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/orbit-iac/terraform-provider-orbit/internal/provider"
)

// version is set by goreleaser (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	// Before Serve, which makes the loggers: nothing is logged that Terraform
	// would discard, unless a TF_LOG* variable asks for it.
	if err := provider.QuietLogsUnlessAsked(); err != nil {
		log.Fatal(err)
	}
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address:         "registry.terraform.io/orbit-iac/orbit",
		Debug:           debug,
		ProtocolVersion: 6,
	})
	if err != nil {
		log.Fatal(err)
	}
}
