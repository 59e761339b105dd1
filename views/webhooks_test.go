package views

import (
	"slices"
	"testing"

	"github.com/warden-console/warden/models"
)

// TestWebhookFormOffersEveryEvent fails when an event endpoints can
// subscribe to is missing from the console's form, or the form offers one
// the store would refuse.
func TestWebhookFormOffersEveryEvent(t *testing.T) {
	var offered []string
	for _, g := range webhookEventGroups {
		for _, e := range g.Events {
			offered = append(offered, e[0])
		}
	}
	for _, typ := range models.WebhookEventTypes {
		if !slices.Contains(offered, typ) {
			t.Errorf("the webhook form does not offer %q", typ)
		}
	}
	for _, typ := range offered {
		if !slices.Contains(models.WebhookEventTypes, typ) {
			t.Errorf("the webhook form offers %q, which is not an event type", typ)
		}
	}
}
