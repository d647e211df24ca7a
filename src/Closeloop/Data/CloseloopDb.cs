using System.Text;
using Closeloop.Alerts;
using Closeloop.Broadcasts;
using Closeloop.Contacts;
using Closeloop.Customers;
using Closeloop.Insights;
using Closeloop.Metrics;
using Closeloop.Notifications;
using Closeloop.Organisation;
using Closeloop.People;
using Closeloop.Responses;
using Closeloop.RootCauses;
using Closeloop.Security;
using Closeloop.Surveys;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Closeloop.Data;

public sealed class CloseloopDb(DbContextOptions<CloseloopDb> options) : DbContext(options)
{
    public DbSet<Site> Sites => Set<Site>();
    public DbSet<Team> Teams => Set<Team>();
    public DbSet<Agent> Agents => Set<Agent>();
    public DbSet<Customer> Customers => Set<Customer>();
    public DbSet<Contact> Contacts => Set<Contact>();
    public DbSet<ContactIssue> Issues => Set<ContactIssue>();
    public DbSet<SurveyResponse> Responses => Set<SurveyResponse>();
    public DbSet<ResponseRollup> ResponseRollups => Set<ResponseRollup>();
    public DbSet<IssueRollup> IssueRollups => Set<IssueRollup>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<User> Users => Set<User>();
    public DbSet<PoolMember> PoolMembers => Set<PoolMember>();
    public DbSet<RootCause> RootCauses => Set<RootCause>();
    public DbSet<AlertRule> AlertRules => Set<AlertRule>();
    public DbSet<Alert> Alerts => Set<Alert>();
    public DbSet<AlertAction> AlertActions => Set<AlertAction>();
    public DbSet<OutboxMessage> Outbox => Set<OutboxMessage>();
    public DbSet<WebhookSubscription> WebhookSubscriptions => Set<WebhookSubscription>();
    public DbSet<SurveyInvitation> SurveyInvitations => Set<SurveyInvitation>();
    public DbSet<SurveyDefinition> Surveys => Set<SurveyDefinition>();
    public DbSet<TrainingExample> TrainingExamples => Set<TrainingExample>();
    public DbSet<CauseAlert> CauseAlerts => Set<CauseAlert>();
    public DbSet<ImprovementAction> ImprovementActions => Set<ImprovementAction>();
    public DbSet<ImprovementNotification> ImprovementNotifications => Set<ImprovementNotification>();
    public DbSet<DepartmentDigest> DepartmentDigests => Set<DepartmentDigest>();
    public DbSet<CustomerNote> CustomerNotes => Set<CustomerNote>();
    public DbSet<Broadcast> Broadcasts => Set<Broadcast>();
    public DbSet<BroadcastRead> BroadcastReads => Set<BroadcastRead>();
    public DbSet<WebConsole.DataProtectionKey> DataProtectionKeys => Set<WebConsole.DataProtectionKey>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Site>().ToTable("sites");
        modelBuilder.Entity<Team>().ToTable("teams");
        modelBuilder.Entity<Agent>().ToTable("agents");
        modelBuilder.Entity<Customer>().ToTable("customers");
        modelBuilder.Entity<Contact>().ToTable("contacts");
        modelBuilder.Entity<ContactIssue>(b =>
        {
            b.ToTable("issues");
            b.Ignore(i => i.ResolvedOnFirstContact);
        });
        modelBuilder.Entity<SurveyResponse>().ToTable("responses");
        modelBuilder.Entity<ResponseRollup>(b =>
        {
            b.ToTable("response_rollups");
            b.HasKey(r => new { r.Day, r.SiteId, r.TeamId, r.Channel, r.Metric });
        });
        modelBuilder.Entity<IssueRollup>(b =>
        {
            b.ToTable("issue_rollups");
            b.HasKey(r => new { r.Day, r.SiteId, r.TeamId, r.Channel });
        });
        modelBuilder.Entity<ApiKey>().ToTable("api_keys");
        modelBuilder.Entity<User>().ToTable("users");
        modelBuilder.Entity<PoolMember>(b =>
        {
            b.ToTable("pool_members");
            b.HasKey(p => new { p.Pool, p.UserId });
        });
        modelBuilder.Entity<RootCause>(b =>
        {
            b.ToTable("root_causes");
            b.HasKey(r => r.Code);
        });
        modelBuilder.Entity<AlertRule>().ToTable("alert_rules");
        modelBuilder.Entity<Alert>(b =>
        {
            b.ToTable("alerts");
            b.Ignore(a => a.IsActive);
            b.Ignore(a => a.IsPaused);
            // Optimistic concurrency: two people (or two processes) acting on one alert cannot overwrite each other.
            b.Property(a => a.Version).IsConcurrencyToken();
        });
        modelBuilder.Entity<AlertAction>().ToTable("alert_actions");
        modelBuilder.Entity<OutboxMessage>().ToTable("outbox");
        modelBuilder.Entity<WebhookSubscription>().ToTable("webhook_subscriptions");
        modelBuilder.Entity<SurveyInvitation>().ToTable("survey_invitations");
        modelBuilder.Entity<SurveyDefinition>().ToTable("surveys");
        modelBuilder.Entity<TrainingExample>().ToTable("training_examples");
        modelBuilder.Entity<CauseAlert>().ToTable("cause_alerts");
        modelBuilder.Entity<ImprovementAction>().ToTable("improvement_actions");
        modelBuilder.Entity<ImprovementNotification>(b =>
        {
            b.ToTable("improvement_notifications");
            b.HasKey(n => new { n.ActionId, n.CustomerId });
        });
        modelBuilder.Entity<DepartmentDigest>(b =>
        {
            b.ToTable("department_digests");
            b.HasKey(d => new { d.Department, d.PeriodStart });
        });
        modelBuilder.Entity<CustomerNote>().ToTable("customer_notes");
        modelBuilder.Entity<Broadcast>().ToTable("broadcasts");
        modelBuilder.Entity<BroadcastRead>(b =>
        {
            b.ToTable("broadcast_reads");
            b.HasKey(r => new { r.BroadcastId, r.UserId });
        });
        modelBuilder.Entity<WebConsole.DataProtectionKey>().ToTable("data_protection_keys");

        ApplyConventions(modelBuilder);
    }

    /// <summary>
    /// The hand-written schema uses snake_case names and unix-millisecond instants on both providers,
    /// so the model follows one convention instead of a column attribute on every property.
    /// </summary>
    internal static void ApplyConventions(ModelBuilder modelBuilder)
    {
        var instant = new ValueConverter<DateTimeOffset, long>(v => v.ToUnixTimeMilliseconds(), v => DateTimeOffset.FromUnixTimeMilliseconds(v));
        var nullableInstant = new ValueConverter<DateTimeOffset?, long?>(
            v => v.HasValue ? v.Value.ToUnixTimeMilliseconds() : null,
            v => v.HasValue ? DateTimeOffset.FromUnixTimeMilliseconds(v.Value) : null);
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            foreach (var property in entity.GetProperties())
            {
                property.SetColumnName(SnakeCase(property.Name));
                if (property.ClrType == typeof(DateTimeOffset))
                {
                    property.SetValueConverter(instant);
                }
                else if (property.ClrType == typeof(DateTimeOffset?))
                {
                    property.SetValueConverter(nullableInstant);
                }
            }
        }
    }

    /// <summary>
    /// snake_case of a PascalCase or camelCase name, for column names; spaces, hyphens and dots become underscores too,
    /// so that a name a person typed ("Customer Reached", "root-cause") reads the same way.
    /// </summary>
    internal static string SnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 8);
        foreach (var c in name)
        {
            if (char.IsUpper(c) && builder.Length > 0 && builder[^1] != '_')
            {
                builder.Append('_');
            }
            builder.Append(c is ' ' or '-' or '.' ? '_' : char.ToLowerInvariant(c));
        }
        return builder.ToString();
    }
}
