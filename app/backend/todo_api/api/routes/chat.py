"""The chat endpoint: one turn per POST, kept as Conversation and Message rows per user."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from sqlmodel import Session, select

from todo_api.api.deps import CurrentUser, SessionDep
from todo_api.api.schemas import ChatBody, ChatOut, MessageOut
from todo_api.chat.service import run_turn
from todo_api.models import Conversation, Message, User, is_storable_id

router = APIRouter(prefix="/api/chat", tags=["chat"])

HISTORY_TURNS = 10


def owned_conversation(session: Session, user: User, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id) if is_storable_id(conversation_id) else None
    if conversation is None or conversation.user_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Conversation not found")
    return conversation


def _messages(session: Session, conversation_id: int) -> list[Message]:
    query = select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    return list(session.exec(query))


@router.post("", response_model=ChatOut)
def chat(body: ChatBody, user: CurrentUser, session: SessionDep, request: Request) -> ChatOut:
    if body.conversation_id is None:
        conversation = Conversation(user_id=user.id)
        session.add(conversation)
        session.commit()
        session.refresh(conversation)
    else:
        conversation = owned_conversation(session, user, body.conversation_id)
    history = [(m.role, m.content) for m in _messages(session, conversation.id)][-HISTORY_TURNS:]
    session.add(Message(conversation_id=conversation.id, role="user", content=body.message))
    session.commit()
    result = run_turn(session, user, body.message, request.app.state.cohere, history)
    session.add(Message(conversation_id=conversation.id, role="assistant", content=result.reply))
    session.commit()
    return ChatOut(conversation_id=conversation.id, reply=result.reply, actions=result.actions)


@router.get("/{conversation_id}", response_model=list[MessageOut])
def conversation_messages(conversation_id: int, user: CurrentUser, session: SessionDep) -> list[Message]:
    owned_conversation(session, user, conversation_id)
    return _messages(session, conversation_id)
