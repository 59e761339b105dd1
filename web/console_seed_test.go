package web

import (
	"context"
	"fmt"

	"github.com/warden-console/warden/models"
)

const consoleAdminEmail = "ada@example.com"

// consoleSeed is what seedConsole made: the ids the page tests open.
type consoleSeed struct {
	ServiceID int64  // a service user with tokens, one of them revoked
	TeamID    int64  // a team with members
	HumanID   int64  // a person who has not set a password yet
	SetupLink string // that person's one-time set-password token
	RevokedID int64  // the revoked token of ServiceID
	AdminSvc  int64  // an Admin service user, whose token form offers every scope
}

// consoleServiceNames are the service users of seedConsole, 30 of them so
// the Users list fills its first page of 25.
var consoleServiceNames = []string{
	"Airflow ETL", "Billing exporter", "CI nightly", "Data warehouse loader", "Deploy bot",
	"Fraud scorer", "Grafana reader", "Invoice mailer", "Kafka mirror", "Ledger sync",
	"Looker extract", "Metrics relay", "Nightly backup", "Notification hub", "Payments webhook",
	"Payroll import", "Postgres replicator", "Reporting API", "Risk engine", "Search indexer",
	"Sentry forwarder", "Slack notifier", "Snowflake sync", "Support desk bridge", "Tax calculator",
	"Terraform runner", "Ticket triage", "Uptime checker", "Vault rotator", "Warehouse audit",
}

// seedConsole fills a store the way a small organisation's console looks:
// six teams, 30 service users in two or three teams each (one
// deactivated), four people, tokens, and failed sign-ins, which together
// make more than 50 audit events.
func seedConsole(ctx context.Context, st *models.Store) (consoleSeed, error) {
	var out consoleSeed
	admin, err := st.CreateHumanAdmin(ctx, models.NewHuman{
		Name: "Ada Admin", Email: consoleAdminEmail, Password: testPassword, Confirm: testPassword,
	})
	if err != nil {
		return out, fmt.Errorf("admin: %w", err)
	}
	by := models.AsUser(admin)
	by.IP, by.UserAgent = "203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	var teams []int64
	for _, t := range []models.TeamInput{
		{Name: "Data Platform", Description: "Pipelines, the warehouse and the reports built on it."},
		{Name: "Payments", Description: "Card processing, payouts and reconciliation."},
		{Name: "Security", Description: "Detection, response and the secrets that keep them running."},
		{Name: "Growth", Description: "Experiments, onboarding and lifecycle messages."},
		{Name: "Infrastructure", Description: "Clusters, networks, CI and deployment."},
		{Name: "Customer Support", Description: "Tooling for the support desk."},
	} {
		tm, err := st.CreateTeam(ctx, by, t)
		if err != nil {
			return out, fmt.Errorf("team %s: %w", t.Name, err)
		}
		teams = append(teams, tm.ID)
	}
	out.TeamID = teams[0]
	roles := []models.Role{models.RoleMember, models.RoleManager, models.RoleMember, models.RoleAdmin}
	for i, name := range consoleServiceNames {
		in := models.NewServiceUser{
			Name:        name,
			Role:        roles[i%len(roles)],
			TeamIDs:     []int64{teams[i%6], teams[(i+1)%6]},
			Description: "Runs " + name + " on a schedule; pages the owning team when it fails.",
			Owner:       models.Owner{TeamID: teams[i%6]},
		}
		if i%3 == 0 {
			in.TeamIDs = append(in.TeamIDs, teams[(i+3)%6])
		}
		if i == 0 { // a long address, to wrap on a phone
			in.NotifyEmails = []string{"data-platform-oncall-rotation@analytics.example.com", "ops@example.com"}
		}
		u, err := st.CreateServiceUser(ctx, by, in)
		if err != nil {
			return out, fmt.Errorf("service user %s: %w", name, err)
		}
		switch i {
		case 3:
			out.AdminSvc = u.ID
		case 0:
			out.ServiceID = u.ID
			for _, tok := range []string{"airflow-prod", "airflow-staging", "airflow-legacy"} {
				t, _, err := st.GenerateToken(ctx, by, u.ID, models.NewToken{Name: tok, Expiry: models.Expiry{Days: 90}})
				if err != nil {
					return out, fmt.Errorf("token %s: %w", tok, err)
				}
				if tok == "airflow-legacy" {
					out.RevokedID = t.ID
					if _, err := st.RevokeToken(ctx, by, t.ID); err != nil {
						return out, fmt.Errorf("revoke %s: %w", tok, err)
					}
				}
			}
		case len(consoleServiceNames) - 1:
			if _, err := st.DeactivateUser(ctx, by, u.ID); err != nil {
				return out, fmt.Errorf("deactivate %s: %w", name, err)
			}
		}
	}
	for i, p := range []models.NewHumanUser{
		{Name: "Grace Hopper", Email: "grace@example.com", Role: models.RoleAdmin},
		{Name: "Alan Turing", Email: "alan@example.com", Role: models.RoleMember},
		{Name: "Katherine Johnson", Email: "katherine@example.com", Role: models.RoleManager},
		{Name: "Edsger Dijkstra", Email: "edsger@example.com", Role: models.RoleMember},
	} {
		p.TeamIDs = []int64{teams[(i+2)%6]}
		u, link, err := st.CreateHumanUser(ctx, by, p)
		if err != nil {
			return out, fmt.Errorf("person %s: %w", p.Name, err)
		}
		if i == 1 {
			out.HumanID, out.SetupLink = u.ID, link
		}
	}
	stranger := models.Actor{Kind: models.ActorAnonymous, Label: "mallory@example.net", IP: "198.51.100.23"}
	for i := 0; i < 8; i++ {
		if err := st.RecordEvent(ctx, stranger, "auth.login_failed", "failed", "wrong password", "", 0, ""); err != nil {
			return out, fmt.Errorf("failed sign-in: %w", err)
		}
	}
	return out, nil
}
