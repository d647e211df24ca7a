namespace Closeloop.Tests.Infrastructure;

/// <summary>A path in the temporary folder that is deleted with the test that made it.</summary>
public sealed class TempFile(string prefix, string extension) : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}{extension}");

    public static implicit operator string(TempFile file) => file.Path;

    public override string ToString() => Path;

    public void Dispose() => File.Delete(Path);
}
