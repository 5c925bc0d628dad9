package io.lccheckpoint.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/** Deletes the temporary directories the broker and the measuring commands make (an encoder's RocksDB state runs to gigabytes). */
public final class TempDirectories {
    private TempDirectories() {
    }

    /** Best effort: a file that cannot be deleted is left, with a line saying so. */
    public static void delete(Path directory) {
        try (var paths = Files.walk(directory)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException | UncheckedIOException e) {
            System.err.println("could not delete " + directory + " (" + e.getMessage() + "); left in place");
        }
    }
}
