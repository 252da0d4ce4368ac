package handlers

import (
	"strings"
	"testing"
)

// The verbs the manifests' usage hint names are the ones /route-alerts
// help explains.
func TestRouteAlertsVerbsAreTheHelps(t *testing.T) {
	for _, verb := range RouteAlertsVerbs {
		if !strings.Contains(routeAlertsHelp, "/route-alerts "+verb) && !strings.Contains(routeAlertsHelp, "`"+verb+"`") {
			t.Errorf("/route-alerts help does not explain %q", verb)
		}
	}
}
