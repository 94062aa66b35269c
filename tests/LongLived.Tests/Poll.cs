namespace LongLived.Tests;

/// <summary>Waiting, bounded, for something another thread or process does.</summary>
internal static class Poll
{
    /// <summary>Returns once <paramref name="condition"/> holds; fails with <paramref name="failure"/> after about 10 s of waiting.</summary>
    public static async Task UntilAsync(Func<bool> condition, string failure = "not within 10 s")
    {
        for (var waited = 0; !condition(); waited += 5)
        {
            Assert.True(waited < 10_000, failure);
            await Task.Delay(5);
        }
    }
}
