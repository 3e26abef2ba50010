"""Task CRUD, scoped to the signed-in user (another user's task is a 404)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status
from sqlmodel import Session, select

from todo_api.api.deps import CurrentUser, SessionDep
from todo_api.api.schemas import TaskCreate, TaskOut, TaskUpdate
from todo_api.models import Task, User, is_storable_id

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


def owned_task(session: Session, user: User, task_id: int) -> Task:
    task = session.get(Task, task_id) if is_storable_id(task_id) else None
    if task is None or task.user_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Task not found")
    return task


@router.get("", response_model=list[TaskOut])
def list_tasks(user: CurrentUser, session: SessionDep) -> list[Task]:
    return list(session.exec(select(Task).where(Task.user_id == user.id).order_by(Task.id)))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TaskOut)
def create_task(body: TaskCreate, user: CurrentUser, session: SessionDep) -> Task:
    task = Task(user_id=user.id, title=body.title)
    session.add(task)
    session.commit()
    session.refresh(task)
    return task


@router.patch("/{task_id}", response_model=TaskOut)
def update_task(task_id: int, body: TaskUpdate, user: CurrentUser, session: SessionDep) -> Task:
    task = owned_task(session, user, task_id)
    if body.title is not None:
        task.title = body.title
    if body.completed is not None:
        task.completed = body.completed
    session.add(task)
    session.commit()
    session.refresh(task)
    return task


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_task(task_id: int, user: CurrentUser, session: SessionDep) -> Response:
    session.delete(owned_task(session, user, task_id))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
