package io.lccheckpoint.restorer;

/** A restore cannot return the step asked for: it names what is missing or broken. Never a silently wrong model. */
public final class RestoreException extends RuntimeException {
    public RestoreException(String message) {
        super(message);
    }

    public RestoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
