package io.lccheckpoint.codec;

/** Base of every error the codec raises about its input (as opposed to caller mistakes, which are {@link IllegalArgumentException}). */
public abstract class CodecException extends RuntimeException {
    CodecException(String message) {
        super(message);
    }
}
