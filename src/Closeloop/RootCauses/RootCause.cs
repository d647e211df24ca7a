namespace Closeloop.RootCauses;

/// <summary>A cause in the two-level taxonomy (parent.child), owned by a department.</summary>
public sealed class RootCause
{
    public required string Code { get; set; }
    public required string Name { get; set; }
    public string? Parent { get; set; }
    public required string Department { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
