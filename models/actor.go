package models

// ActorKind says who performed an action.
type ActorKind string

const (
	ActorHuman     ActorKind = "human"
	ActorService   ActorKind = "service"
	ActorSystem    ActorKind = "system"    // the CLI, the server itself
	ActorAnonymous ActorKind = "anonymous" // someone not signed in: a failed sign-in, a forged form
)

// Actor is who performs a store operation, and from where: it becomes the
// actor and request fields of the operation's audit event.
type Actor struct {
	Kind      ActorKind
	ID        int64 // the user's id; 0 for system and anonymous actors
	Label     string
	TokenID   int64 // the token an API caller used
	IP        string
	UserAgent string
	RequestID string
}

// System is the actor of the command line and of the server's own work.
var System = Actor{Kind: ActorSystem, Label: "system"}

// AsUser returns the actor for a signed-in user, without request details.
func AsUser(u *User) Actor {
	kind := ActorHuman
	if u.Kind == KindService {
		kind = ActorService
	}
	return Actor{Kind: kind, ID: u.ID, Label: u.Handle()}
}
